#!/usr/bin/env node
// Simulated FreeBSD `zfs` (see install.ts).
import { runZfs } from './host-sim.js';

runZfs(process.argv.slice(2));
