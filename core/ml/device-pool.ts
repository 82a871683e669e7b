/**
 * The accelerators of one training worker, handed out one job at a time: a job holds its device
 * from start to end, so two jobs never share one. The worker sizes its activity slots to the pool,
 * so a job normally finds a free device at once; if not, it waits (never oversubscribes).
 */
export class DevicePool {
  private readonly free: string[];
  private readonly waiting: ((device: string) => void)[] = [];

  /** `devices`: ids as `CUDA_VISIBLE_DEVICES` takes them (`0`, `1`, or GPU UUIDs). */
  constructor(readonly devices: readonly string[]) {
    if (new Set(devices).size !== devices.length)
      throw new Error(`device list ${devices.join(',')} names a device twice`);
    this.free = [...devices];
  }

  /** Devices in the pool. */
  get size(): number {
    return this.devices.length;
  }

  /** Devices not held by a job now. */
  get available(): number {
    return this.free.length;
  }

  /** Holds a device until `release` (idempotent) is called. */
  async acquire(): Promise<{ readonly device: string; release(): void }> {
    const device = this.free.shift() ?? (await new Promise<string>((resolve) => this.waiting.push(resolve)));
    let released = false;
    return {
      device,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(device);
        else this.free.push(device);
      },
    };
  }
}

/**
 * The devices a GPU training worker uses: `FTI_GPU_DEVICES` (comma-separated ids; pins a subset, or
 * simulates devices in tests) when set, else the GPUs `nvidia-smi` reported.
 */
export function gpuDeviceIds(setting: string | undefined, detected: readonly { index: number }[]): string[] {
  if (setting !== undefined && setting.trim() !== '') {
    const ids = setting.split(',').map((s) => s.trim());
    const bad = ids.find((id) => !/^[A-Za-z0-9-]+$/.test(id));
    if (bad !== undefined)
      throw new Error(
        `FTI_GPU_DEVICES must be comma-separated device ids (0,1 or GPU-UUIDs), got ${JSON.stringify(bad)}`,
      );
    return ids;
  }
  return detected.map((g) => String(g.index));
}
