import 'reflect-metadata';
import { runHub } from './run-hub';

/** `node dist/src/main.js [--demo]`: serves the hub (see run-hub.ts). */
runHub({ demo: process.argv.includes('--demo') }).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
