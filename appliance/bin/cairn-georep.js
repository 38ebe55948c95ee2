#!/usr/bin/env node
// cairn-georep: failover and failback of geo-replicated volumes (built from src/georep-cli.ts; docs/geo-replication.md).
import { main } from '../dist/src/georep-cli.js';
process.exitCode = await main(process.argv.slice(2));
