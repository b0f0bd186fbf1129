// Who is signed in, shared by every page.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export const SessionContext = createContext({ user: null, navigation: null, setUser: () => {}, signOut: () => {} });
export const useSession = () => useContext(SessionContext);
