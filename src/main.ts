import 'reflect-metadata';
import { runHub, UsageError } from './run-hub';

/** `node dist/src/main.js [--demo [--reset]]`: serves the hub (see run-hub.ts). */
runHub({ demo: process.argv.includes('--demo'), reset: process.argv.includes('--reset') }).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
});
