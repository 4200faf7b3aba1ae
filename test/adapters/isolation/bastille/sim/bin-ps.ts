#!/usr/bin/env node
// Simulated FreeBSD `ps` (see install.ts).
import { runPs } from './tools-sim.js';

runPs(process.argv.slice(2));
