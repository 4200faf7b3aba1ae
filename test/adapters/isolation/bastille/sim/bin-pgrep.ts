#!/usr/bin/env node
// Simulated FreeBSD `pgrep` (see install.ts).
import { runPkill } from './proc-sim.js';

runPkill(process.argv.slice(2), 'pgrep');
