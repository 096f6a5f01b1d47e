export const liveKeys = {
  realtime: (id: string) => ['live', 'realtime', id] as const,
};
