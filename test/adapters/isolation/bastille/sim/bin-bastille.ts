#!/usr/bin/env node
// Simulated FreeBSD `bastille` (see install.ts).
import { runBastille } from './bastille-sim.js';

runBastille(process.argv.slice(2));
