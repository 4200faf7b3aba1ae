#!/usr/bin/env node
// Simulated FreeBSD `ps` (see install.ts).
import { runPs } from './proc-sim.js';

runPs(process.argv.slice(2));
