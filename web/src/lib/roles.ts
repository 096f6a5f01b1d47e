import type { Role } from '../api/types';

/** Mirrors `Role::manages_campaigns`: create, edit, delete campaigns and creatives. */
export function canManageCampaigns(role: Role | undefined | null): boolean {
  return role === 'admin' || role === 'campaign_manager';
}

/** Mirrors `Role::administers`: users and ingest keys. */
export function isAdmin(role: Role | undefined | null): boolean {
  return role === 'admin';
}

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Admin',
  campaign_manager: 'Campaign manager',
  analyst: 'Analyst',
};
