// Types of the endpoints the API is adding right now (browser sessions,
// signed stream URLs, the tenant-wide creatives listing). They are not in
// web/openapi.json yet. This file goes away when the spec has them: copy
// the new document to web/openapi.json, run `npm run gen:api`, and point
// the imports of these names at src/api/types.ts instead.
import type { Asset, Role } from './types';

/** The user a session belongs to. */
export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  tenant_id: string;
}

/** `POST /session` and `POST /session/refresh` (200). */
export interface SessionResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  user: SessionUser;
}

/** `POST /session` body. */
export interface LoginRequest {
  email: string;
  password: string;
}

/** `POST /campaigns/{id}/realtime/stream-url` (200). */
export interface StreamUrl {
  url: string;
  expires_in: number;
}

export type CreativeType = 'png' | 'jpeg' | 'gif' | 'webp';

/** `GET /creatives` query. */
export interface CreativesQuery {
  limit?: number;
  cursor?: string;
  campaign_id?: string;
  type?: CreativeType;
  name?: string;
}

/** `GET /creatives` (200): newest first. */
export interface CreativePage {
  data: Asset[];
  total: number;
  next_cursor: string | null;
}
