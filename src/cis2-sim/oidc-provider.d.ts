// The part of oidc-provider 9's API the CIS2 simulator uses (the package ships no TypeScript types). Kept in
// this folder: no other part of rxsign sees oidc-provider's types.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: readonly string[] };
    readonly params: Readonly<Record<string, unknown>>;
    readonly session?: { readonly accountId: string; readonly uid: string };
    readonly exp: number;
  }

  export interface OidcSession {
    readonly uid: string;
    readonly accountId?: string;
    readonly authorizations?: Readonly<Record<string, { readonly sid?: string }>>;
    destroy(): Promise<void>;
  }

  export interface OidcClient {
    readonly clientId: string;
    readonly backchannelLogoutUri?: string;
    backchannelLogout(sub: string, sid: string): Promise<void>;
  }

  export interface OidcGrant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: readonly string[]): void;
    save(): Promise<string>;
  }

  export interface OidcContext {
    readonly oidc: {
      readonly client?: OidcClient;
      readonly session?: OidcSession & { grantIdFor(clientId: string): string | undefined };
      readonly result?: Record<string, unknown>;
      readonly params?: Readonly<Record<string, unknown>>;
      readonly requestParamScopes: ReadonlySet<string>;
      readonly requestParamClaims: ReadonlySet<string>;
      readonly provider: Provider;
    };
    type: string;
    body: unknown;
    readonly host: string;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (...args: never[]) => void): this;
    readonly Client: { find(id: string): Promise<OidcClient | undefined> };
    readonly Session: { findByUid(uid: string): Promise<OidcSession | undefined> };
    readonly Grant: {
      new (init: { clientId: string; accountId: string }): OidcGrant;
      find(id: string): Promise<OidcGrant | undefined>;
    };
  }
  export default Provider;
}
