"""The service's signing keys: loaded from PEM files or SSM SecureString parameters at start.

Every loaded key is published in the JWKS; one, the active key, signs. The active key is
TOKEN_SERVICE_ACTIVE_KID when set, otherwise the first key loaded (first file or parameter,
first key within it). That makes the rotation runbook two edits of one setting.
"""
import dataclasses

from token_service import keys, ssm
from token_service.settings import SettingsError


class KeyLoadError(SettingsError):
    """Message names the file or parameter (and the setting), never any key material."""


@dataclasses.dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: object  # cryptography RSAPrivateKey

    @property
    def public_jwk(self) -> dict:
        return keys.public_jwk(self.private_key, self.kid)


@dataclasses.dataclass(frozen=True)
class KeyRing:
    active: SigningKey
    all: tuple

    def jwks(self) -> dict:
        return keys.jwks(key.public_jwk for key in self.all)


def load_keyring(settings) -> KeyRing:
    private_keys = _load_private_keys(settings)
    if settings.signing_key_ids and len(settings.signing_key_ids) != len(private_keys):
        raise KeyLoadError(
            f"TOKEN_SERVICE_SIGNING_KEY_IDS: {len(settings.signing_key_ids)} kids for {len(private_keys)} keys")
    kids = settings.signing_key_ids or [keys.thumbprint(key) for key in private_keys]
    ring = tuple(SigningKey(kid, key) for kid, key in zip(kids, private_keys))
    if len({key.kid for key in ring}) != len(ring):
        raise KeyLoadError("TOKEN_SERVICE_SIGNING_KEY_IDS: the same kid twice (or the same key loaded twice)")
    active = ring[0]
    if settings.active_kid:
        matches = [key for key in ring if key.kid == settings.active_kid]
        if not matches:
            raise KeyLoadError(f"TOKEN_SERVICE_ACTIVE_KID: no loaded key has kid {settings.active_kid!r}")
        active = matches[0]
    return KeyRing(active=active, all=ring)


def _load_private_keys(settings) -> list:
    if settings.signing_key_file:
        sources = [(f"TOKEN_SERVICE_SIGNING_KEY_FILE {path}", _read_file(path)) for path in settings.signing_key_file]
    else:
        sources = [(f"TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER {name}", pem)
                   for name, pem in _read_ssm(settings).items()]
    loaded = []
    for source, pem in sources:
        try:
            loaded.extend(keys.load_private_keys_pem(pem))
        except ValueError as exc:
            raise KeyLoadError(f"{source}: {exc}") from None
    return loaded


def _read_file(path) -> bytes:
    try:
        return keys.read_key_file(path)
    except OSError as exc:
        raise KeyLoadError(f"TOKEN_SERVICE_SIGNING_KEY_FILE {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise KeyLoadError(f"TOKEN_SERVICE_SIGNING_KEY_FILE {path}: {exc}") from None


def _read_ssm(settings) -> dict:
    """{parameter name: PEM bytes}, in the configured order."""
    get_parameter = _parameter_reader(settings)
    pems = {}
    for name in settings.signing_key_ssm_parameter:
        try:
            parameter = get_parameter(name)
        except ssm.SsmError as exc:
            raise KeyLoadError(f"TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER {name}: {exc}") from None
        if parameter.get("Type") != "SecureString":
            raise KeyLoadError(f"TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER {name}: must be a SecureString")
        pems[name] = parameter["Value"].encode()
    return pems


def _parameter_reader(settings):
    """name -> decrypted parameter, raising ssm.SsmError. Signed here (ssm.py, no boto3: a shorter
    cold start) when the credentials are in the environment, as Lambda puts its role's; otherwise
    boto3 finds them (profiles, SSO, instance roles)."""
    credentials = ssm.environment_credentials()
    if credentials:
        return lambda name: ssm.get_parameter(name, settings.ssm_region, credentials, settings.ssm_endpoint_url)
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "ssm", region_name=settings.ssm_region, endpoint_url=settings.ssm_endpoint_url,
        config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}),
    )

    def get_parameter(name):
        try:
            return client.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        except ClientError as exc:
            raise ssm.SsmError(exc.response["Error"].get("Code", "error")) from None
        except BotoCoreError as exc:
            raise ssm.SsmError(str(exc)) from None
    return get_parameter
