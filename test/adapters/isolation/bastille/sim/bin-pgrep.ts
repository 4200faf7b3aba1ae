#!/usr/bin/env node
// Simulated FreeBSD `pgrep` (see install.ts).
import { runPkill } from './tools-sim.js';

runPkill(process.argv.slice(2), 'pgrep');
