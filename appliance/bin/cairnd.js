#!/usr/bin/env node
// cairnd: the Cairn appliance daemon (built from src/main.ts by `tsc -b`).
import { main } from '../dist/src/main.js';
process.exitCode = await main(process.argv.slice(2));
