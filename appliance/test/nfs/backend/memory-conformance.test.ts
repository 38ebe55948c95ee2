/** The memory backend (the protocol tests' fixture) against the shared Backend conformance suite. */
import { openMemoryBackend } from '../../../src/nfs/backend/memory/index.js';
import { backendConformance } from './conformance.js';

backendConformance('memory', async () => openMemoryBackend());
