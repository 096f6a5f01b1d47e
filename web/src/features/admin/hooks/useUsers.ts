import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { NewUser, User, UserList } from '../../../api/types';
import { jsonBody } from '../../../api/client';
import { useApi } from '../../../session/context';

const KEY = ['admin', 'users'] as const;

/** GET /users. */
export function useUsers() {
  const api = useApi();
  return useQuery({ queryKey: KEY, queryFn: ({ signal }) => api.json<UserList>('/users', { signal }) });
}

/** POST /users. */
export function useCreateUser() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (u: NewUser) => api.json<User>('/users', jsonBody('POST', u)),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
}

/** POST /users/{id}/deactivate. */
export function useDeactivateUser() {
  const api = useApi();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.json<User>(`/users/${encodeURIComponent(id)}/deactivate`, { method: 'POST' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: KEY }),
  });
}
