#!/usr/bin/env node
// Simulated FreeBSD `jexec-prep` (see install.ts).
import { runJexecPrep } from './tools-sim.js';

runJexecPrep(process.argv.slice(2));
