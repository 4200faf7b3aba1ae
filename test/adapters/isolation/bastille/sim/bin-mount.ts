#!/usr/bin/env node
// Simulated FreeBSD `mount` (see install.ts).
import { runMount } from './host-sim.js';

runMount(process.argv.slice(2));
