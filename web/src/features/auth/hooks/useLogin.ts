import { useMutation } from '@tanstack/react-query';
import { useSessionManager } from '../../../session/context';

/** POST /session (through the session manager, which keeps the token). */
export function useLogin() {
  const session = useSessionManager();
  return useMutation({
    mutationFn: ({ email, password }: { email: string; password: string }) => session.login(email, password),
  });
}
