#!/usr/bin/env node
// Simulated FreeBSD `umount` (see install.ts).
import { runUmount } from './host-sim.js';

runUmount(process.argv.slice(2));
