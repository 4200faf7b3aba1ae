#!/usr/bin/env node
// Simulated FreeBSD `jls` (see install.ts).
import { runJls } from './host-sim.js';

runJls(process.argv.slice(2));
