import { DevicePool, gpuDeviceIds } from './device-pool';

describe('DevicePool', () => {
  it('hands each device to one job at a time and passes a released device to the next waiting job', async () => {
    const pool = new DevicePool(['0', '1']);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect([a.device, b.device].sort()).toEqual(['0', '1']);
    expect(pool.available).toBe(0);
    let third: string | undefined;
    const waiting = pool.acquire().then((held) => (third = held.device));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBeUndefined();
    b.release();
    b.release(); // idempotent: the device is not freed twice
    await waiting;
    expect(third).toBe(b.device);
    expect(pool.available).toBe(0);
    a.release();
    expect(pool.available).toBe(1);
  });

  it('takes the device list from FTI_GPU_DEVICES (simulated or pinned) or from nvidia-smi', () => {
    expect(gpuDeviceIds('2, 3', [{ index: 0 }])).toEqual(['2', '3']);
    expect(gpuDeviceIds(undefined, [{ index: 0 }, { index: 1 }])).toEqual(['0', '1']);
    expect(gpuDeviceIds('', [])).toEqual([]);
    expect(() => gpuDeviceIds('0;rm', [])).toThrow('FTI_GPU_DEVICES must be comma-separated device ids');
    expect(() => new DevicePool(['0', '0'])).toThrow('names a device twice');
  });
});
