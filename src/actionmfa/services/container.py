"""The service container: every service of the process, built once at start-up, typed.

:func:`build_services` is the one place that wires the graph; everything else receives what it
needs through its constructor. A router reaches a service through the ``Annotated`` dependencies of
:mod:`actionmfa.api.deps` (``MfaDep`` → :class:`MfaServices` …), the CLI through
``runtime.services``. Services that keep process state (the JWKS cache, the Paillier key pool,
signing-key caches) live here exactly once.

To add a service: write it in its area (``services/<area>/<idea>.py``, a constructor taking its
collaborators, methods that own their transactions), add a field to the area's dataclass below and
build it in :func:`build_services`; routers then use it as ``area.<field>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmfa.clock import Clock
from actionmfa.crypto import Keyring
from actionmfa.services.core.access import Access
from actionmfa.services.core.credentials import Credentials
from actionmfa.services.core.directory import Directory
from actionmfa.services.core.envcache import EnvironmentCache
from actionmfa.services.core.environments import EnvironmentService
from actionmfa.services.core.gate import Gate
from actionmfa.services.core.keys import SigningKeys
from actionmfa.services.core.sessions import SessionService
from actionmfa.services.core.tokens import TokenService
from actionmfa.services.core.webhooks import WebhookWorker
from actionmfa.services.mfa.approvals import Approvals
from actionmfa.services.mfa.completion import Completion
from actionmfa.services.mfa.devices import Devices
from actionmfa.services.mfa.lockout import CodeAttempts
from actionmfa.services.mfa.profile import Profile
from actionmfa.services.mfa.recovery import RecoveryCodes
from actionmfa.services.mfa.stepup import StepUp
from actionmfa.services.mfa.totp import Totp
from actionmfa.services.operator.audit_chain import AuditChain
from actionmfa.services.operator.audit_log import AuditLog
from actionmfa.services.operator.dashboard import Dashboard
from actionmfa.services.operator.environments import EnvironmentAdmin
from actionmfa.services.operator.health import Health
from actionmfa.services.operator.janitor import Janitor, JanitorThread
from actionmfa.services.operator.key_rotation import KeyRotation
from actionmfa.services.operator.mfa_reset import MfaReset
from actionmfa.services.operator.user_overview import UserOverview
from actionmfa.services.passkeys.authentication import PasskeyAuthentication
from actionmfa.services.passkeys.ceremonies import PasskeyCeremonies
from actionmfa.services.passkeys.management import PasskeyManagement
from actionmfa.services.passkeys.registration import PasskeyRegistration
from actionmfa.services.signin.accounts import Accounts
from actionmfa.services.signin.email import EmailSignIn
from actionmfa.services.signin.external import ExternalAuthVerifier, ExternalSignIn, JwksCache, http_fetch_jwks
from actionmfa.services.signin.mailer import Mailer
from actionmfa.services.signin.sessions import SessionLifecycle
from actionmfa.services.wallets.admin import WalletAdmin
from actionmfa.services.wallets.delegated import DelegatedSigningService
from actionmfa.services.wallets.delivery import DelegationWebhook
from actionmfa.services.wallets.export import Export
from actionmfa.services.wallets.keygen import Keygen
from actionmfa.services.wallets.keysource import PaillierKeys
from actionmfa.services.wallets.pending import PendingActions
from actionmfa.services.wallets.pregenerated import Pregenerated
from actionmfa.services.wallets.refresh import Refresh
from actionmfa.services.wallets.reshare import ReshareService
from actionmfa.services.wallets.signing import Signing
from actionmfa.services.wallets.solana_export import SolanaExport
from actionmfa.services.wallets.solana_keygen import SolanaKeygen
from actionmfa.services.wallets.solana_refresh import SolanaRefresh
from actionmfa.services.wallets.solana_shares import SolanaShares
from actionmfa.services.wallets.solana_signing import SolanaSigning
from actionmfa.services.wallets.vault import WalletVault
from actionmfa.store.db import Database


@dataclass(frozen=True)
class CoreServices:
    keys: SigningKeys
    sessions: SessionService
    environments: EnvironmentService
    tokens: TokenService
    gate: Gate
    access: Access
    directory: Directory
    credentials: Credentials
    webhooks: WebhookWorker


@dataclass(frozen=True)
class SignInServices:
    accounts: Accounts
    email: EmailSignIn
    external: ExternalSignIn
    sessions: SessionLifecycle


@dataclass(frozen=True)
class MfaServices:
    attempts: CodeAttempts
    completion: Completion
    totp: Totp
    recovery: RecoveryCodes
    devices: Devices
    step_up: StepUp
    profile: Profile
    approvals: Approvals


@dataclass(frozen=True)
class PasskeyServices:
    ceremonies: PasskeyCeremonies
    registration: PasskeyRegistration
    authentication: PasskeyAuthentication
    management: PasskeyManagement


@dataclass(frozen=True)
class SolanaServices:
    """Solana wallets (two-party FROST): the chain's own use cases beside the EVM ones."""

    shares: SolanaShares
    keygen: SolanaKeygen
    signing: SolanaSigning
    export: SolanaExport
    refresh: SolanaRefresh


@dataclass(frozen=True)
class WalletServices:
    keys: PaillierKeys
    vault: WalletVault
    keygen: Keygen
    signing: Signing
    refresh: Refresh
    export: Export
    reshare: ReshareService
    webhook: DelegationWebhook
    delegated: DelegatedSigningService
    admin: WalletAdmin
    solana: SolanaServices
    pending: PendingActions
    pregenerated: Pregenerated


@dataclass(frozen=True)
class OperatorServices:
    environments: EnvironmentAdmin
    audit_log: AuditLog
    audit_chain: AuditChain
    dashboard: Dashboard
    mfa_reset: MfaReset
    users: UserOverview
    key_rotation: KeyRotation
    health: Health
    janitor: JanitorThread


@dataclass(frozen=True)
class Services:
    core: CoreServices
    signin: SignInServices
    mfa: MfaServices
    passkeys: PasskeyServices
    wallets: WalletServices
    operator: OperatorServices

    def close(self) -> None:
        """Release what the services hold outside the database (the janitor, the key pool and its
        child process)."""
        self.operator.janitor.stop()
        self.core.webhooks.stop()
        self.wallets.keys.close()


def _solana_services(db: Database, clock: Clock, gate: Gate, vault: WalletVault, export: Export) -> SolanaServices:
    shares = SolanaShares(db, vault)
    return SolanaServices(
        shares=shares,
        keygen=SolanaKeygen(db, clock, vault, shares),
        signing=SolanaSigning(db, clock, gate, vault, shares),
        export=SolanaExport(db, clock, gate, shares, export.hooks),
        refresh=SolanaRefresh(db, clock, gate, vault, shares),
    )


def build_services(*, db: Database, keyring: Keyring, clock: Clock, mailer: Mailer) -> Services:
    """The whole graph, once per process (``Runtime.build`` calls this)."""
    keys = SigningKeys(keyring)
    sessions = SessionService(keys, clock, EnvironmentCache())
    environments = EnvironmentService(keyring, keys, clock)
    tokens = TokenService(keyring, keys, clock)
    gate = Gate(tokens)
    access = Access(db, sessions, environments)
    directory = Directory(db, environments, keys, clock)
    core = CoreServices(keys, sessions, environments, tokens, gate, access, directory, Credentials(db),
                        WebhookWorker(db, keyring, clock))

    accounts = Accounts(sessions, clock)
    verifier = ExternalAuthVerifier(clock, JwksCache(clock, http_fetch_jwks))
    signin = SignInServices(
        accounts=accounts,
        email=EmailSignIn(db, keyring, clock, environments, accounts, mailer),
        external=ExternalSignIn(db, clock, environments, accounts, verifier),
        sessions=SessionLifecycle(db, sessions),
    )

    attempts = CodeAttempts(db, clock, sessions)
    completion = Completion(keyring, tokens, sessions)
    recovery = RecoveryCodes(db, keyring, clock, gate, attempts, completion)
    mfa = MfaServices(
        attempts=attempts,
        completion=completion,
        totp=Totp(db, keyring, clock, gate, attempts, completion),
        recovery=recovery,
        devices=Devices(db, clock, gate),
        step_up=StepUp(db, gate),
        profile=Profile(db, clock, gate, recovery, sessions),
        approvals=Approvals(keyring, clock),
    )

    ceremonies = PasskeyCeremonies(db, keyring, clock)
    passkeys = PasskeyServices(
        ceremonies=ceremonies,
        registration=PasskeyRegistration(db, clock, ceremonies, gate, completion),
        authentication=PasskeyAuthentication(db, clock, ceremonies, completion, sessions),
        management=PasskeyManagement(db, clock, gate),
    )

    paillier = PaillierKeys()
    vault = WalletVault(keyring)
    webhook = DelegationWebhook(db, clock, vault, core.webhooks)
    wallets = WalletServices(
        keys=paillier,
        vault=vault,
        keygen=Keygen(db, clock, vault, paillier),
        signing=Signing(db, clock, gate, vault),
        refresh=Refresh(db, clock, gate, vault, paillier),
        export=(export := Export(db, clock, gate, vault)),
        reshare=ReshareService(db, keyring, clock, gate, vault, paillier, webhook),
        webhook=webhook,
        delegated=DelegatedSigningService(db, keyring, clock, vault),
        admin=WalletAdmin(db, clock, vault, environments, paillier),
        solana=_solana_services(db, clock, gate, vault, export),
        pending=PendingActions(db, clock, vault),
        pregenerated=(pregenerated := Pregenerated(db, keyring, clock, vault, paillier, environments)),
    )
    accounts.hooks.append(pregenerated.attach)  # a pregenerated wallet is attached at its identity's sign-in

    environment_admin = EnvironmentAdmin(db, environments)
    audit_log = AuditLog(db, environments)
    audit_chain = AuditChain(db, keyring)
    user_overview, reset = UserOverview(db, clock), MfaReset(db, clock)
    operator = OperatorServices(
        environments=environment_admin,
        audit_log=audit_log,
        audit_chain=audit_chain,
        dashboard=Dashboard(keyring, clock, access, environment_admin, audit_log, audit_chain,
                            user_overview=user_overview, mfa_reset=reset, wallet_admin=wallets.admin,
                            webhooks=core.webhooks, pregenerated=wallets.pregenerated),
        mfa_reset=reset,
        users=user_overview,
        key_rotation=KeyRotation(db, keyring, clock),
        health=Health(db, clock, paillier),
        janitor=JanitorThread(Janitor(db, clock)),  # started by server.warm_up in every worker
    )
    return Services(core, signin, mfa, passkeys, wallets, operator)
