"""The token service deployment: its Lambda package, environment, role, and public function URL."""
import importlib.util
import json
import os
import subprocess
import time
import zipfile

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from edge.package import find_interpreter
from infra import lambda_package
from infra.token_service import build_token_service_package
from tests.infra.harness import ACCOUNT, RANDOM_HEX, REPO, STACK_REGION, rsa_key_pems, run_program
from tests.token_service.lambda_events import function_url_event
from token_service.keys import thumbprint
from token_service.settings import Settings as TokenServiceSettings

PREFIX = "/edge-private-media/test"
KEY_PARAMETERS = [f"{PREFIX}/signing-keys/2025-01", f"{PREFIX}/signing-keys/2025-02"]
FUNCTION_NAME = "edge-private-media-test-token-service"
PYTHON_3_13 = find_interpreter("python3.13")
needs_python_3_13 = pytest.mark.skipif(PYTHON_3_13 is None, reason="no python3.13 on this machine")


@pytest.fixture(scope="module")
def function(full_deployment):
    return full_deployment.one("aws:lambda/function:Function", "token-service")


@pytest.fixture(scope="module")
def package_path(function):
    return function.inputs["code"].path


def test_function_settings(full_deployment, function):
    inputs = function.inputs
    assert inputs["name"] == FUNCTION_NAME
    assert inputs["runtime"] == "python3.13"
    assert inputs["handler"] == "token_service_lambda.handler.handler"
    assert inputs["architectures"] == ["x86_64"]
    assert inputs["role"] == full_deployment.one("aws:iam/role:Role", "token-service-role").outputs["arn"]


def test_environment_is_accepted_by_the_token_service_and_names_the_ssm_keys(full_deployment, function):
    env = function.inputs["environment"]["variables"]
    settings = TokenServiceSettings.from_env(env)
    active = load_pem_public_key(rsa_key_pems("signing-keys-2025-02", 2048)[1].encode())
    assert settings.issuer == "https://tokens.example.com"
    assert settings.audience == "https://media.example.com"
    assert settings.signing_key_ssm_parameter == tuple(KEY_PARAMETERS)
    assert settings.ssm_region == "us-east-1"
    assert settings.active_kid == thumbprint(active) == full_deployment.exports["activeKid"]
    assert (settings.idp_issuer, settings.idp_audience, settings.idp_audience_claim) == (
        "https://idp.example.com/", "app-api", "aud")
    assert settings.idp_jwks_url == "https://idp.example.com/.well-known/jwks.json"
    assert settings.token_lifetime_seconds == 300
    assert settings.cors_allowed_origins == ("https://app.example.com", "https://admin.example.com")
    assert (settings.cookie_name, settings.cookie_domain, settings.cookie_samesite) == (
        "__Host-media_token", None, "Lax")
    assert settings.idp_algorithms == ("RS256",)
    assert not settings.signing_key_file  # keys come from SSM only


def test_default_scope_opens_every_file_and_docs_are_off(full_deployment, function):
    env = function.inputs["environment"]["variables"]
    assert "TOKEN_SERVICE_DEFAULT_PATHS" not in env  # every logged-in member may view every file
    assert env["TOKEN_SERVICE_DOCS_ENABLED"] == "false"


def test_stack_config_reaches_the_token_service():
    deployment = run_program({
        "tokenService": True, "viewingPaths": ["/videos/{sub}/", "/public/"], "idpAlgorithms": ["RS256", "ES256"],
        "tokenServiceDocs": True, "uploadMaxBytes": 1048576, "uploadContentTypes": ["video/mp4"],
        "cookieSameSite": "Strict", "cookieName": "media_token", "domainName": "media.example.com",
        "hostedZoneId": "Z0123456789ABCDEFGHIJ"})
    env = deployment.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert env["TOKEN_SERVICE_DEFAULT_PATHS"] == "/videos/{sub}/,/public/"
    assert env["TOKEN_SERVICE_IDP_ALGORITHMS"] == "RS256,ES256"
    assert env["TOKEN_SERVICE_DOCS_ENABLED"] == "true"
    assert env["TOKEN_SERVICE_COOKIE_SAMESITE"] == "Strict"
    assert env["TOKEN_SERVICE_UPLOAD_MAX_BYTES"] == "1048576"
    assert env["TOKEN_SERVICE_UPLOAD_CONTENT_TYPES"] == "video/mp4"
    settings = TokenServiceSettings.from_env(env)
    assert settings.default_paths == ("/videos/{sub}/", "/public/")
    assert settings.idp_algorithms == ("RS256", "ES256")


def test_upload_settings_name_the_bucket_its_region_and_the_media_host(header_deployment):
    env = header_deployment.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    bucket = header_deployment.one("aws:s3/bucket:Bucket")
    assert env["TOKEN_SERVICE_UPLOAD_BUCKET"] == bucket.outputs["bucket"] == header_deployment.exports["bucketName"]
    assert env["TOKEN_SERVICE_UPLOAD_BUCKET_REGION"] == STACK_REGION
    assert env["TOKEN_SERVICE_UPLOAD_PREFIX"] == "/videos/{sub}/"
    assert env["TOKEN_SERVICE_UPLOAD_MAX_BYTES"] == "209715200"
    assert env["TOKEN_SERVICE_UPLOAD_CONTENT_TYPES"] == "video/mp4,video/webm,video/quicktime"
    assert env["TOKEN_SERVICE_MEDIA_BASE_URL"] == header_deployment.exports["mediaUrl"]
    assert env["TOKEN_SERVICE_MEDIA_BASE_URL"].startswith("https://")
    assert "TOKEN_SERVICE_S3_ENDPOINT_URL" not in env  # the local stack's moto only


def test_media_base_url_is_the_alias_in_cookie_mode(full_deployment, function):
    assert function.inputs["environment"]["variables"]["TOKEN_SERVICE_MEDIA_BASE_URL"] == "https://media.example.com"


def test_role_reads_only_its_key_parameters(full_deployment):
    role = full_deployment.one("aws:iam/role:Role", "token-service-role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": ["lambda.amazonaws.com"]}
    assert "managedPolicyArns" not in role.inputs
    assert not full_deployment.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")

    statements = json.loads(full_deployment.one("aws:iam/rolePolicy:RolePolicy", "token-service-policy")
                            .inputs["policy"])["Statement"]
    key_arns = [f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}" for name in KEY_PARAMETERS]
    by_sid = {s["Sid"]: s for s in statements}
    # With uploads and processing on; the S3 grants are tested in test_media_processor.py.
    assert set(by_sid) == {"ReadSigningKeyParameters", "DecryptSigningKeyParameters", "WriteOwnLogs", "PutUploads",
                           "ReadAssetStatus", "ListAssets", "DeleteAssets"}
    assert all(s["Effect"] == "Allow" for s in statements)

    read = by_sid["ReadSigningKeyParameters"]
    assert read["Action"] == "ssm:GetParameter" and read["Resource"] == key_arns  # not the JWKS, nothing else

    decrypt = by_sid["DecryptSigningKeyParameters"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"
    assert decrypt["Condition"] == {"StringEquals": {
        "kms:ViaService": "ssm.us-east-1.amazonaws.com",
        "kms:EncryptionContext:PARAMETER_ARN": key_arns,
    }}

    log_group = full_deployment.one("aws:cloudwatch/logGroup:LogGroup", "token-service-logs")
    assert log_group.inputs["name"] == f"/aws/lambda/{FUNCTION_NAME}-{RANDOM_HEX[:8]}"  # tests/infra/test_guardrails.py
    assert log_group.inputs["retentionInDays"] == 30
    logs = by_sid["WriteOwnLogs"]
    assert logs["Resource"] == [log_group.outputs["arn"], log_group.outputs["arn"] + ":*"]
    assert sorted(logs["Action"]) == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _s3_grants(deployment):
    statements = json.loads(deployment.one("aws:iam/rolePolicy:RolePolicy", "token-service-policy")
                            .inputs["policy"])["Statement"]
    grants = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        grants += [(statement["Effect"], a, r) for a in actions for r in resources if a.lower().startswith("s3")]
        assert "NotAction" not in statement and "NotResource" not in statement
    return grants


def test_uploads_off_means_no_s3_right_and_no_upload_settings():
    deployment = run_program({"tokenService": True, "uploadsEnabled": False})
    assert _s3_grants(deployment) == []
    env = deployment.one("aws:lambda/function:Function", "token-service").inputs["environment"]["variables"]
    assert not [name for name in env if name.startswith(("TOKEN_SERVICE_UPLOAD_", "TOKEN_SERVICE_MEDIA_BASE_URL"))]
    assert TokenServiceSettings.from_env(env)  # still a valid environment


def test_snapstart_serves_a_published_version_through_an_alias():
    deployment = run_program({"tokenService": True, "tokenServiceSnapStart": True})
    function = deployment.one("aws:lambda/function:Function", "token-service")
    assert function.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    assert function.inputs["publish"] is True
    alias = deployment.one("aws:lambda/alias:Alias")
    assert alias.inputs["functionName"] == FUNCTION_NAME
    assert alias.inputs["functionVersion"] == function.outputs["version"]  # the version just published
    url = deployment.one("aws:lambda/functionUrl:FunctionUrl")
    assert url.inputs["qualifier"] == alias.inputs["name"]
    for permission in deployment.of_type("aws:lambda/permission:Permission"):
        if permission.inputs["function"] == FUNCTION_NAME:
            assert permission.inputs["qualifier"] == alias.inputs["name"], permission.inputs["action"]


def test_snapstart_off_by_default(header_deployment):
    function = header_deployment.one("aws:lambda/function:Function", "token-service")
    assert "snapStart" not in function.inputs
    assert function.inputs["publish"] is False  # no versions piling up
    assert not header_deployment.of_type("aws:lambda/alias:Alias")
    assert "qualifier" not in header_deployment.one("aws:lambda/functionUrl:FunctionUrl").inputs


def test_public_function_url(full_deployment):
    url = full_deployment.one("aws:lambda/functionUrl:FunctionUrl")
    assert url.inputs == {"functionName": FUNCTION_NAME, "authorizationType": "NONE"}
    permissions = {p.inputs["action"]: p.inputs for p in full_deployment.of_type("aws:lambda/permission:Permission")
                   if p.inputs["function"] == FUNCTION_NAME}
    assert permissions["lambda:InvokeFunctionUrl"] == {
        "function": FUNCTION_NAME, "principal": "*", "action": "lambda:InvokeFunctionUrl",
        "functionUrlAuthType": "NONE"}
    assert permissions["lambda:InvokeFunction"] == {
        "function": FUNCTION_NAME, "principal": "*", "action": "lambda:InvokeFunction",
        "invokedViaFunctionUrl": True}
    assert full_deployment.exports["tokenServiceUrl"] == url.outputs["functionUrl"]


def test_token_service_off_deploys_none_of_it(deployment):
    assert [f.name for f in deployment.of_type("aws:lambda/function:Function")] == ["viewer-auth"]
    assert not deployment.of_type("aws:lambda/functionUrl:FunctionUrl")
    assert not deployment.of_type("aws:lambda/permission:Permission")
    assert "tokenServiceUrl" not in deployment.exports


def test_package_holds_the_service_and_linux_python_3_13_wheels(package_path):
    with zipfile.ZipFile(package_path) as package:
        names = set(package.namelist())
    assert "token_service_lambda/handler.py" in names
    assert {"token_service/app.py", "token_service/settings.py", "token_service/routers/token.py"} <= names
    for top in ("fastapi/", "mangum/", "jwt/", "httpx/", "starlette/", "pydantic/"):
        assert any(name.startswith(top) for name in names), top
    native = [name for name in names if name.endswith(".so")]
    assert any(name.startswith("cryptography/hazmat/bindings/") for name in native)
    assert any(name.startswith("pydantic_core/") and "cpython-313-x86_64-linux-gnu" in name for name in native)
    assert not any(name.startswith("bin/") for name in names)
    assert not any(name.startswith(("boto3/", "botocore/")) for name in names)  # the runtime ships them


@needs_python_3_13
def test_package_ships_unchecked_hash_bytecode_of_python_3_13_for_every_module(package_path):
    """Lambda's /var/task is read-only: without these, every cold start compiles every module."""
    magic = subprocess.run([PYTHON_3_13, "-I", "-c", "import importlib.util, sys; "
                            "sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
                           capture_output=True, text=True, check=True).stdout
    with zipfile.ZipFile(package_path) as package:
        names = set(package.namelist())
        sources = [name for name in names if name.endswith(".py")]
        assert len(sources) > 100
        for source in sources:
            folder, _, filename = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{filename[:-3]}.cpython-313.pyc".lstrip("/")
            assert pyc in names, pyc
            header = package.read(pyc)[:8]
            # PEP 552 flags 0b01: hash-based, not checked against the source (no mtime in the bytes).
            assert header[:4].hex() == magic and int.from_bytes(header[4:8], "little") == 1, pyc


@needs_python_3_13
def test_packaged_function_runs_read_only_on_python_3_13_from_bytecode_alone(package_path, tmp_path):
    """The zip as Lambda lays it out, run by python3.13 with its own manylinux wheels: read-only, and
    with every .py replaced by code that fails, so a module loaded from source would show."""
    task = tmp_path / "task"
    with zipfile.ZipFile(package_path) as package:
        package.extractall(task)
    for source in task.rglob("*.py"):
        source.write_text("raise ImportError('loaded from source, not from its bytecode')\n")
    signing_pem, signing_public = rsa_key_pems("lambda-entry-signing", 2048)
    _, idp_public = rsa_key_pems("lambda-entry-idp", 2048)
    (tmp_path / "signing.pem").write_text(signing_pem)
    (tmp_path / "idp.pem").write_text(idp_public)
    env = {"PATH": os.environ["PATH"], **{f"TOKEN_SERVICE_{name}": value for name, value in {
        "ISSUER": "https://tokens.example.com", "AUDIENCE": "https://media.example.com",
        "IDP_ISSUER": "https://idp.example.com/", "IDP_AUDIENCE": "app-api", "DOCS_ENABLED": "false",
        "SIGNING_KEY_FILE": str(tmp_path / "signing.pem"), "IDP_PUBLIC_KEY_FILE": str(tmp_path / "idp.pem"),
    }.items()}}
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
              "from token_service_lambda.handler import handler; "
              "print(json.dumps(handler(json.loads(sys.argv[2]), None)))")
    subprocess.run(["chmod", "-R", "a-w", str(task)], check=True)
    try:
        # -B as well: chmod does not stop root, and /var/task stops everyone.
        result = subprocess.run([PYTHON_3_13, "-B", "-I", "-c", script, str(task),
                                 json.dumps(function_url_event("GET", "/.well-known/jwks.json"))],
                                cwd=task, env=env, capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(task)], check=True)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["statusCode"] == 200
    assert [k["kid"] for k in json.loads(answer["body"])["keys"]] == [
        thumbprint(load_pem_public_key(signing_public.encode()))]


def test_package_fits_a_direct_upload(package_path):
    assert os.path.getsize(package_path) < 50 * 1024 * 1024


def test_package_is_cached_by_its_inputs(monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although nothing changed")

    # Built again here rather than compared with the fixture's build: in a shared working tree the
    # token service's sources may change in between, which rightly makes a new package.
    built = build_token_service_package(REPO / "build" / "pulumi")
    monkeypatch.setattr(lambda_package, "_pip_install", no_build)
    monkeypatch.setattr(lambda_package, "_compile", no_build)
    assert build_token_service_package(REPO / "build" / "pulumi") == built


def test_builds_are_deterministic_and_keyed_on_sources(tmp_path):
    source = tmp_path / "app.py"
    source.write_text("print('one')\n")
    build_dir = tmp_path / "build"
    first = lambda_package.build_python_package("t", ["mangum==0.22.0"], {"app.py": source}, build_dir)
    first_bytes = first.read_bytes()
    first.unlink()
    again = lambda_package.build_python_package("t", ["mangum==0.22.0"], {"app.py": source}, build_dir)
    assert again == first and again.read_bytes() == first_bytes

    source.write_text("print('two')\n")
    changed = lambda_package.build_python_package("t", ["mangum==0.22.0"], {"app.py": source}, build_dir)
    assert changed != first
    with zipfile.ZipFile(changed) as package:
        assert package.read("app.py") == b"print('two')\n"
        assert ("__pycache__/app.cpython-313.pyc" in package.namelist()) == (PYTHON_3_13 is not None)


def test_without_python_3_13_the_package_is_source_only_and_says_so(tmp_path, monkeypatch, capsys):
    source = tmp_path / "app.py"
    source.write_text("print('one')\n")
    monkeypatch.setattr(lambda_package, "find_interpreter", lambda runtime: None)
    package = lambda_package.build_python_package("t", ["mangum==0.22.0"], {"app.py": source}, tmp_path / "build")
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    assert "app.py" in names and not any(name.endswith(".pyc") for name in names)
    assert "no python3.13 on this machine" in capsys.readouterr().err
    monkeypatch.undo()
    if PYTHON_3_13:  # the compiled zip is another input, not the cached source-only one
        compiled = lambda_package.build_python_package("t", ["mangum==0.22.0"], {"app.py": source}, tmp_path / "build")
        assert compiled != package


def test_unbuildable_requirements_are_a_clear_error(tmp_path):
    with pytest.raises(lambda_package.PackageBuildError, match="pip could not install mangum<0"):
        lambda_package.build_python_package("t", ["mangum<0"], {}, tmp_path)  # no release can match
    assert not list(tmp_path.glob("*.zip"))


def test_packaged_entry_module_serves_function_url_events(package_path, tmp_path, monkeypatch):
    """The zip's handler module, run here against this venv's packages (the zip's wheels are for
    Linux Python 3.13): Mangum must route function URL events into the app."""
    signing_pem, signing_public = rsa_key_pems("lambda-entry-signing", 2048)
    idp_pem, idp_public = rsa_key_pems("lambda-entry-idp", 2048)
    (tmp_path / "signing.pem").write_text(signing_pem)
    (tmp_path / "idp.pem").write_text(idp_public)
    for name, value in {
        "ISSUER": "https://tokens.example.com", "AUDIENCE": "https://media.example.com",
        "IDP_ISSUER": "https://idp.example.com/", "IDP_AUDIENCE": "app-api",
        "SIGNING_KEY_FILE": str(tmp_path / "signing.pem"), "IDP_PUBLIC_KEY_FILE": str(tmp_path / "idp.pem"),
    }.items():
        monkeypatch.setenv(f"TOKEN_SERVICE_{name}", value)
    with zipfile.ZipFile(package_path) as package:
        entry = tmp_path / "handler.py"
        entry.write_bytes(package.read("token_service_lambda/handler.py"))
    spec = importlib.util.spec_from_file_location("packaged_token_service_entry", entry)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    health = module.handler(function_url_event("GET", "/healthz"), None)
    assert health["statusCode"] == 200

    jwks = module.handler(function_url_event("GET", "/.well-known/jwks.json"), None)
    assert [k["kid"] for k in json.loads(jwks["body"])["keys"]] == [
        thumbprint(load_pem_public_key(signing_public.encode()))]

    now = int(time.time())
    app_token = jwt.encode({"iss": "https://idp.example.com/", "aud": "app-api", "sub": "u42", "iat": now,
                            "exp": now + 60}, load_pem_private_key(idp_pem.encode(), None), algorithm="RS256")
    minted = module.handler(function_url_event("POST", "/token", {"authorization": f"Bearer {app_token}"}), None)
    assert minted["statusCode"] == 200, minted
    claims = jwt.decode(json.loads(minted["body"])["access_token"], load_pem_public_key(signing_public.encode()),
                        algorithms=["RS256"], audience="https://media.example.com")
    assert claims["sub"] == "u42" and claims["iss"] == "https://tokens.example.com"
