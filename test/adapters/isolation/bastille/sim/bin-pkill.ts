#!/usr/bin/env node
// Simulated FreeBSD `pkill` (see install.ts).
import { runPkill } from './proc-sim.js';

runPkill(process.argv.slice(2), 'pkill');
