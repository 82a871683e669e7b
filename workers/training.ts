#!/usr/bin/env node
// Worker for the `fti-training` task queue; the training team runs and scales it on its own.
import { TASK_QUEUES } from '../core/pipelines';
import { runWorker } from './run-worker';

void runWorker(TASK_QUEUES.training);
