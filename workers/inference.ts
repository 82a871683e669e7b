#!/usr/bin/env node
// Worker for the `fti-inference` task queue; the inference team runs and scales it on its own.
import { TASK_QUEUES } from '../core/pipelines';
import { runWorker } from './run-worker';

void runWorker(TASK_QUEUES.inference);
