#!/usr/bin/env node
// Simulated FreeBSD `jexec-prep` (see install.ts).
import { runJexecPrep } from './proc-sim.js';

runJexecPrep(process.argv.slice(2));
