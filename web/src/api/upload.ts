// A multipart upload with progress (fetch has no upload progress): XHR
// with the session's Bearer token, one renewal and retry on 401.
import type { ApiClient } from './client';
import { ApiError, errorFromBody, networkError } from './errors';

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadOptions {
  field?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** For tests. */
  xhr?: () => XMLHttpRequest;
}

export async function uploadFile<T>(api: ApiClient, path: string, file: File, opts: UploadOptions = {}): Promise<T> {
  const attempt = (token: string | null) => send<T>(`${api.base}${path}`, file, token, opts);
  const used = api.token();
  try {
    return await attempt(used);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    const current = api.token();
    const fresh = current !== null && current !== used ? current : await api.renew();
    if (fresh === null) throw e;
    return attempt(fresh);
  }
}

function send<T>(url: string, file: File, token: string | null, opts: UploadOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = opts.xhr ? opts.xhr() : new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = false;
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) opts.onProgress?.({ loaded: ev.loaded, total: ev.total });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as T);
        } catch (e) {
          reject(networkError(e));
        }
      } else {
        reject(errorFromBody(xhr.status, xhr.responseText, (n) => xhr.getResponseHeader(n)));
      }
    };
    xhr.onerror = () => reject(networkError(new Error('upload failed')));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append(opts.field ?? 'file', file, file.name);
    xhr.send(form);
  });
}
