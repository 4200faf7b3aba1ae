#!/usr/bin/env node
// Simulated FreeBSD `ifconfig` (see install.ts).
import { runIfconfig } from './host-sim.js';

runIfconfig(process.argv.slice(2));
