#!/usr/bin/env node
import { main } from './main.js';

// The environment is read here, once, and passed down; nothing below reads process.env.
process.exitCode = await main(process.argv, process.env);
