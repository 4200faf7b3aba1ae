#!/usr/bin/env node
// Simulated FreeBSD `netstat` (see install.ts).
import { runNetstat } from './host-sim.js';

runNetstat(process.argv.slice(2));
