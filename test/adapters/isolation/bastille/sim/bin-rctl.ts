#!/usr/bin/env node
// Simulated FreeBSD `rctl` (see install.ts).
import { runRctl } from './rctl-sim.js';

runRctl(process.argv.slice(2));
