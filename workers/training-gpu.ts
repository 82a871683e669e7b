#!/usr/bin/env node
// Worker for the `fti-training-gpu` task queue: run it on GPU machines; it takes one training
// activity per GPU it finds (nvidia-smi). Pipelines ask for it with `trainQueue: "fti-training-gpu"`.
import { TASK_QUEUES } from '../core/pipelines';
import { runWorker } from './run-worker';

void runWorker(TASK_QUEUES.trainingGpu);
