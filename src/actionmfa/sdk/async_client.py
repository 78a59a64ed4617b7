"""``AsyncClient``: the SDK's whole typed surface, awaitable.

::

    async with AsyncClient(environment_id, base_url=...) as client:
        await client.auth.email.send_code("alice@example.com")
        await client.auth.email.verify(code)
        wallet = await client.wallets.create()           # AsyncWallet
        signed = await wallet.sign_message("hello")       # eth_account SignedMessage

Every resource of :class:`~actionmfa.sdk.client.Client` has an async twin here, declared method by
method from the sync one (``add_device = awaitable(MfaResource.add_device)``), so both keep the same
parameters and return types (mypy checks callers of either) and a test keeps the two surfaces
equal. A call runs the one implementation of its flow on a worker thread of the client's own
pool: the event loop never waits, neither on the network nor on the wallet's cryptography (a
signing round does Paillier arithmetic between its requests). ``max_concurrency`` bounds the
threads, hence the calls in flight at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar, overload

from actionmfa.sdk.approve import PromptMode
from actionmfa.sdk.auth import AuthResource, EmailAuth, ExternalAuth
from actionmfa.sdk.client import Client
from actionmfa.sdk.mfa import MfaResource
from actionmfa.sdk.passkeys import PasskeysResource
from actionmfa.sdk.solana_wallets import SolanaWallet
from actionmfa.sdk.step_up import StepUpResource
from actionmfa.sdk.tokens import TokenStore
from actionmfa.sdk.transport import SessionState
from actionmfa.sdk.ui import MfaPrompt, UiResource
from actionmfa.sdk.users import UsersResource
from actionmfa.sdk.wallets import Wallet, WalletsResource
from actionmfa.wallet.keyproofs import ClientRing

__all__ = ["AsyncClient", "AsyncWallet"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
S = TypeVar("S")


class Runner:
    """Runs synchronous SDK calls on a bounded pool of worker threads (context variables kept)."""

    def __init__(self, max_workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="actionmfa-sdk")

    async def __call__(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class AsyncView(Generic[S]):
    """An awaitable view of one synchronous SDK object (``target``)."""

    def __init__(self, target: S, runner: Runner) -> None:
        self._target = target
        self._runner = runner

    @property
    def sync(self) -> S:
        """The synchronous object behind this view."""
        return self._target


class _Awaitable(Generic[S, P, R]):
    """Descriptor: the sync method ``fn`` of ``S``, as a coroutine method of ``AsyncView[S]``."""

    def __init__(self, fn: Callable[Concatenate[S, P], Any], wrap: Callable[[Runner, Any], R] | None) -> None:
        self.wrapped = fn
        self._wrap = wrap
        self.__doc__ = fn.__doc__

    @overload
    def __get__(self, view: None, owner: type[Any]) -> _Awaitable[S, P, R]: ...

    @overload
    def __get__(self, view: AsyncView[S], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(self, view: AsyncView[S] | None, owner: type[Any]) -> Any:
        if view is None:
            return self
        fn, wrap, runner, target = self.wrapped, self._wrap, view._runner, view._target

        @functools.wraps(fn)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            result = await runner(fn, target, *args, **kwargs)
            return wrap(runner, result) if wrap is not None else result  # type: ignore[no-any-return]

        return call


@overload
def awaitable(fn: Callable[Concatenate[S, P], R]) -> _Awaitable[S, P, R]: ...


@overload
def awaitable(fn: Callable[Concatenate[S, P], T], *, wrap: Callable[[Runner, T], R]) -> _Awaitable[S, P, R]: ...


def awaitable(
    fn: Callable[Concatenate[S, P], Any], *, wrap: Callable[[Runner, Any], Any] | None = None
) -> _Awaitable[S, P, Any]:
    """Declare an async method of an :class:`AsyncView` from the sync method it runs."""
    return _Awaitable(fn, wrap)


# -- resources ------------------------------------------------------------------------------------
class AsyncEmailAuth(AsyncView[EmailAuth]):
    send_code = awaitable(EmailAuth.send_code)
    verify = awaitable(EmailAuth.verify)

    @property
    def verification_uuid(self) -> str | None:
        return self._target.verification_uuid


class AsyncExternalAuth(AsyncView[ExternalAuth]):
    sign_in = awaitable(ExternalAuth.sign_in)


class AsyncAuthResource(AsyncView[AuthResource]):
    refresh = awaitable(AuthResource.refresh)
    logout = awaitable(AuthResource.logout)

    @cached_property
    def email(self) -> AsyncEmailAuth:
        return AsyncEmailAuth(self._target.email, self._runner)

    @cached_property
    def external(self) -> AsyncExternalAuth:
        return AsyncExternalAuth(self._target.external, self._runner)

    @property
    def signed_in(self) -> bool:
        return self._target.signed_in


class AsyncUsersResource(AsyncView[UsersResource]):
    me = awaitable(UsersResource.me)
    update = awaitable(UsersResource.update)


class AsyncMfaResource(AsyncView[MfaResource]):
    is_required_for_action = awaitable(MfaResource.is_required_for_action)
    add_device = awaitable(MfaResource.add_device)
    verify_device = awaitable(MfaResource.verify_device)
    get_user_devices = awaitable(MfaResource.get_user_devices)
    get_methods = awaitable(MfaResource.get_methods)

    update_user_device = awaitable(MfaResource.update_user_device)
    delete_user_device = awaitable(MfaResource.delete_user_device)
    authenticate_device = awaitable(MfaResource.authenticate_device)
    authenticate_recovery_code = awaitable(MfaResource.authenticate_recovery_code)
    send_authentication = awaitable(MfaResource.send_authentication)
    accept_verify_response = awaitable(MfaResource.accept_verify_response)
    get_recovery_codes = awaitable(MfaResource.get_recovery_codes)
    get_new_recovery_codes = awaitable(MfaResource.get_new_recovery_codes)
    complete_acknowledgement = awaitable(MfaResource.complete_acknowledgement)
    is_pending_recovery_codes_acknowledgment = awaitable(MfaResource.is_pending_recovery_codes_acknowledgment)

    # Local and instant: no reason to hop threads.
    def on(self, event: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self._target.on(event, callback)

    def off(self, event: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self._target.off(event, callback)

    def get_mfa_token(self) -> str | None:
        return self._target.get_mfa_token()


class AsyncStepUpResource(AsyncView[StepUpResource]):
    check = awaitable(StepUpResource.check)
    authenticate = awaitable(StepUpResource.authenticate)


class AsyncPasskeysResource(AsyncView[PasskeysResource]):
    get = awaitable(PasskeysResource.get)
    register = awaitable(PasskeysResource.register)
    authenticate_mfa = awaitable(PasskeysResource.authenticate_mfa)
    origins = awaitable(PasskeysResource.origins)
    update = awaitable(PasskeysResource.update)
    delete = awaitable(PasskeysResource.delete)
    origins = awaitable(PasskeysResource.origins)


class AsyncWallet(AsyncView[Wallet]):
    """An embedded wallet; the same methods as :class:`~actionmfa.sdk.wallets.Wallet`, awaitable."""

    precompute = awaitable(Wallet.precompute)
    sign_message = awaitable(Wallet.sign_message)
    sign_typed_data = awaitable(Wallet.sign_typed_data)
    sign_transaction = awaitable(Wallet.sign_transaction)
    sign_authorization = awaitable(Wallet.sign_authorization)
    refresh = awaitable(Wallet.refresh)
    claim = awaitable(Wallet.claim)
    reshare = awaitable(Wallet.reshare)
    settle = awaitable(Wallet.settle)
    decline_delegation = awaitable(Wallet.decline_delegation)

    @overload
    async def export_private_key(self, *, prompt: PromptMode = None) -> str: ...

    @overload
    async def export_private_key(self, *, password: str, prompt: PromptMode = None) -> dict[str, Any]: ...

    @overload
    async def export_private_key(
        self, *, password: str | None, prompt: PromptMode = None
    ) -> str | dict[str, Any]: ...

    async def export_private_key(
        self, *, password: str | None = None, prompt: PromptMode = None
    ) -> str | dict[str, Any]:
        return await self._runner(self._target.export_private_key, password=password, prompt=prompt)

    def __repr__(self) -> str:
        return f"AsyncWallet(id={self.id!r}, address={self.address!r})"

    @property
    def id(self) -> str:
        return self._target.id

    @property
    def address(self) -> str:
        return self._target.address

    @property
    def chain(self) -> str:
        return self._target.chain

    @property
    def locked(self) -> bool:
        return self._target.locked

    @property
    def key_version(self) -> int:
        return self._target.key_version

    @property
    def threshold_scheme(self) -> str:
        return self._target.threshold_scheme

    @property
    def key_ceremony_id(self) -> str | None:
        return self._target.key_ceremony_id

    @property
    def pending_action(self) -> str | None:
        return self._target.pending_action

    @property
    def pregenerated(self) -> bool:
        return self._target.pregenerated


class AsyncSolanaWallet(AsyncView[SolanaWallet]):
    """A Solana wallet; the same methods as :class:`~actionmfa.sdk.solana_wallets.SolanaWallet`, awaitable."""

    sign_message = awaitable(SolanaWallet.sign_message)
    sign_transaction = awaitable(SolanaWallet.sign_transaction)
    export_private_key = awaitable(SolanaWallet.export_private_key)
    refresh = awaitable(SolanaWallet.refresh)

    def __repr__(self) -> str:
        return f"AsyncSolanaWallet(id={self.id!r}, address={self.address!r})"

    @property
    def id(self) -> str:
        return self._target.id

    @property
    def address(self) -> str:
        return self._target.address

    @property
    def chain(self) -> str:
        return self._target.chain

    @property
    def key_version(self) -> int:
        return self._target.key_version


def _one_wallet(runner: Runner, wallet: Wallet | SolanaWallet) -> AsyncWallet | AsyncSolanaWallet:
    if isinstance(wallet, SolanaWallet):
        return AsyncSolanaWallet(wallet, runner)
    return AsyncWallet(wallet, runner)


def _wallets(runner: Runner, wallets: list[Wallet | SolanaWallet]) -> list[AsyncWallet | AsyncSolanaWallet]:
    return [_one_wallet(runner, w) for w in wallets]


def _evm_wallets(runner: Runner, wallets: list[Wallet]) -> list[AsyncWallet]:
    return [AsyncWallet(w, runner) for w in wallets]


class AsyncWalletsResource(AsyncView[WalletsResource]):
    @overload
    async def create(self, *, chain: Literal["EVM"] = "EVM") -> AsyncWallet: ...

    @overload
    async def create(self, *, chain: Literal["SOL"]) -> AsyncSolanaWallet: ...

    async def create(self, *, chain: str = "EVM") -> AsyncWallet | AsyncSolanaWallet:
        """Run two-party key generation (``chain="SOL"``: a Solana wallet)."""
        if chain == "SOL":
            return AsyncSolanaWallet(await self._runner(self._target.create, chain="SOL"), self._runner)
        return AsyncWallet(await self._runner(self._target.create, chain="EVM"), self._runner)

    list = awaitable(WalletsResource.list, wrap=_wallets)
    get = awaitable(WalletsResource.get, wrap=_one_wallet)
    user_id = awaitable(WalletsResource.user_id)
    load_share = awaitable(WalletsResource.load_share)
    wallet_data = awaitable(WalletsResource.wallet_data)
    complete_pending = awaitable(WalletsResource.complete_pending, wrap=_evm_wallets)

    async def claim(self, wallet: AsyncWallet, *,
                    prompt: Callable[[], object] | Literal[False] | None = None) -> AsyncWallet:
        """Take over a pregenerated wallet (:meth:`WalletsResource.claim`); returns it, claimed."""
        await self._runner(self._target.claim, wallet.sync, prompt=prompt)
        return wallet

    def pending_actions(self) -> dict[str, str]:
        """As :meth:`WalletsResource.pending_actions` (no request, so not awaited)."""
        return self._target.pending_actions()

    randomness_pool = awaitable(WalletsResource.randomness_pool)
    ring = awaitable(WalletsResource.ring)

    def configure(
        self,
        *,
        share_dir: Path | str | None = None,
        passphrase: str | None = None,
        min_modulus_bits: int | None = None,
        precompute: int | None = None,
        ring: ClientRing | None = None,
    ) -> AsyncWalletsResource:
        self._target.configure(
            share_dir=share_dir, passphrase=passphrase, min_modulus_bits=min_modulus_bits, precompute=precompute,
            ring=ring,
        )
        return self

    def close(self) -> None:
        self._target.close()


class AsyncMfaPrompt(AsyncView[MfaPrompt]):
    show = awaitable(MfaPrompt.show)


class AsyncUiResource(AsyncView[UiResource]):
    @property
    def mfa(self) -> AsyncMfaPrompt:
        return AsyncMfaPrompt(self._target.mfa, self._runner)


# -- the client -----------------------------------------------------------------------------------
class AsyncClient(AsyncView[Client]):
    """The same surface as :class:`~actionmfa.sdk.client.Client`, awaitable.

    Takes :class:`Client`'s keyword arguments (``base_url``, ``timeout``, ``max_retries``,
    ``http_client``, ``refresh_margin_seconds``) and ``max_concurrency``: the worker threads that
    run calls, so the number of calls in flight at once (default 16).
    """

    def __init__(self, environment_id: str, *, max_concurrency: int = 16, **kwargs: Any) -> None:
        super().__init__(Client(environment_id, **kwargs), Runner(max_concurrency))
        self._sync = self._target

    @property
    def environment_id(self) -> str:
        return self._sync.environment_id

    @property
    def base_url(self) -> str:
        return self._sync.base_url

    @property
    def session(self) -> SessionState:
        return self._sync.session

    @property
    def tokens(self) -> TokenStore:
        return self._sync.tokens

    @cached_property
    def auth(self) -> AsyncAuthResource:
        return AsyncAuthResource(self._sync.auth, self._runner)

    @cached_property
    def users(self) -> AsyncUsersResource:
        return AsyncUsersResource(self._sync.users, self._runner)

    @cached_property
    def mfa(self) -> AsyncMfaResource:
        return AsyncMfaResource(self._sync.mfa, self._runner)

    @cached_property
    def step_up(self) -> AsyncStepUpResource:
        return AsyncStepUpResource(self._sync.step_up, self._runner)

    @cached_property
    def passkeys(self) -> AsyncPasskeysResource:
        return AsyncPasskeysResource(self._sync.passkeys, self._runner)

    @cached_property
    def wallets(self) -> AsyncWalletsResource:
        return AsyncWalletsResource(self._sync.wallets, self._runner)

    @cached_property
    def ui(self) -> AsyncUiResource:
        return AsyncUiResource(self._sync.ui, self._runner)

    def set_session(self, verify_response: Mapping[str, Any]) -> None:
        self._sync.set_session(verify_response)

    def sdk_path(self, path: str) -> str:
        return self._sync.sdk_path(path)

    request = awaitable(Client.request)

    async def aclose(self) -> None:
        await self._runner(self._sync.close)
        if "wallets" in self.__dict__:
            self._sync.wallets.close()
        self._runner.shutdown()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
