// The live stream: POST …/realtime/stream-url for a signed URL, then an
// EventSource on it. `update` events carry the realtime view; the query
// cache takes them so the page re-renders. The server ends streams after
// a while and signed URLs expire, so on any error the stream is closed and
// a fresh URL fetched, after 1 s doubling up to 15 s.
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Realtime } from '../../../api/types';
import type { StreamUrl } from '../../../api/types';
import { ApiError } from '../../../api/errors';
import { useApi } from '../../../session/context';
import { backoffDelay } from '../api/backoff';
import { liveKeys } from '../api/keys';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'failed';

export function useLiveStream(id: string): LiveState {
  const api = useApi();
  const qc = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');

  useEffect(() => {
    let stopped = false;
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;

    const retry = () => {
      if (stopped) return;
      setState('reconnecting');
      timer = setTimeout(() => void connect(), backoffDelay(attempt));
      attempt += 1;
    };

    const connect = async () => {
      let url: string;
      try {
        ({ url } = await api.json<StreamUrl>(`/campaigns/${encodeURIComponent(id)}/realtime/stream-url`, {
          method: 'POST',
        }));
      } catch (e) {
        // No such campaign, or not allowed: retrying will not help.
        if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
          if (!stopped) setState('failed');
          return;
        }
        retry();
        return;
      }
      if (stopped) return;
      const source = new EventSource(url);
      es = source;
      source.onopen = () => {
        attempt = 0;
        setState('live');
      };
      source.addEventListener('update', (ev) => {
        attempt = 0;
        setState('live');
        try {
          qc.setQueryData<Realtime>(liveKeys.realtime(id), JSON.parse((ev as MessageEvent<string>).data) as Realtime);
        } catch {
          // a malformed event: skip it
        }
      });
      source.addEventListener('unavailable', () => setState('unavailable'));
      source.onerror = () => {
        source.close();
        if (es === source) es = null;
        retry();
      };
    };

    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      es?.close();
    };
  }, [api, qc, id]);

  return state;
}
