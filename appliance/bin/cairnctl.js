#!/usr/bin/env node
// cairnctl: command line over cairnd's REST API (built from src/cairnctl.ts).
import { main } from '../dist/src/cairnctl.js';
process.exitCode = await main(process.argv.slice(2));
