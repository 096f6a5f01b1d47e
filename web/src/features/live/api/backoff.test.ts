import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff';

describe('live stream reconnect backoff', () => {
  it('starts at 1 s, doubles, and stays at 15 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(backoffDelay)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
});
