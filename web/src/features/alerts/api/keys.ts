import type { AlertDeliveryStatus } from '../../../api/types';

export const alertKeys = {
  all: ['alerts'] as const,
  rules: (cursor: string | undefined) => ['alerts', 'rules', cursor ?? ''] as const,
  rule: (id: string) => ['alerts', 'rule', id] as const,
  firings: (id: string) => ['alerts', 'firings', id] as const,
  channels: ['alerts', 'channels'] as const,
  deliveries: (ruleId: string, status: AlertDeliveryStatus | '') => ['alerts', 'deliveries', ruleId, status] as const,
  delivery: (id: string) => ['alerts', 'delivery', id] as const,
};
