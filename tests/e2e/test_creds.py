"""End-to-end: ddbfs mounts with each remote credential source as the only one, against
tests/harness/fake-aws-metadata.py (instance metadata, container credentials, STS) on loopback,
and refreshes the credentials before they expire.

dynalite checks no signature, so the source is shown by the fake's request log and by ddbfs's own
lines: "mounted ... (credentials from SOURCE)" and "credentials from SOURCE refreshed". The fake
hands out credentials that expire DDB_CREDS_REFRESH_S (300 s) + a few seconds after they are
issued, so ddbfs must refresh them within seconds. No secret may reach ddbfs's stderr.
"""

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
import unittest

import ddbfs_e2e as e2e

HERE = os.path.dirname(os.path.abspath(__file__))
REFRESH_S = 300  # DDB_CREDS_REFRESH_S in ddb/creds.h
FRESH_FOR_S = 3  # the fake's credentials leave the refresh window's edge this long after issue
REFRESH_WAIT_S = 60  # bounded wait for a refresh
SECRETS = ("FAKESECRET", "FAKETOKEN", "FAKEIMDSTOKEN", "web-identity-jwt", "container-auth")


def load_fake():
    spec = importlib.util.spec_from_file_location(
        "fake_aws_metadata", os.path.join(HERE, "..", "harness", "fake-aws-metadata.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def setUpModule():
    e2e.require_fuse()


@contextlib.contextmanager
def environment(**values):
    """os.environ with the credential variables of the harness removed and values set (None:
    removed), for the daemons started inside; restored afterwards."""
    saved = dict(os.environ)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        os.environ.pop(name, None)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class CredentialSources(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake_mod = load_fake()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ddbfs-e2e-creds.")
        self.server, port = self.fake_mod.serve(self.dir)
        self.url = f"http://127.0.0.1:{port}"
        self.token_file = os.path.join(self.dir, "token")
        # No ~/.aws of the machine's: the files named here do not exist.
        self.files = dict(AWS_CONFIG_FILE=os.path.join(self.dir, "no-config"),
                          AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "no-credentials"))

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def scenario(self, doc):
        tmp = os.path.join(self.dir, "scenario.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(self.dir, "scenario.json"))

    def requests(self):
        try:
            with open(os.path.join(self.dir, "log.jsonl")) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def write_token(self, text):
        tmp = self.token_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.token_file)

    def mount_and_refresh(self, source, env, count_fetches, on_refresh=None):
        """Mounts with env, checks the source named in the mount line, lists the mount until the
        credentials were refreshed at least once (bounded), and checks the log for secrets.
        count_fetches(requests) says how many credential documents the fake handed out."""
        # -d: every debug line of ddbfs too must be free of secrets (libfuse's own -d lines,
        # which do not start with "ddbfs: ", are tolerated).
        with environment(**self.files, **env):
            m = e2e.Mount(extra_args=["-d"], allowed=[r"^(?!ddbfs: )"]).start()
        try:
            log = m.log()
            self.assertIn(f"credentials from {source})", log)
            first = count_fetches(self.requests())
            self.assertGreaterEqual(first, 1, "the fake was not asked")
            if on_refresh:
                on_refresh()
            deadline = time.monotonic() + REFRESH_WAIT_S
            while f"credentials from {source} refreshed" not in m.log():
                if time.monotonic() > deadline:
                    self.fail(f"no refresh within {REFRESH_WAIT_S} s:\n{m.log()}")
                os.listdir(m.mountpoint)  # signed requests (ListTables every 5 s)
                time.sleep(0.5)
            self.assertGreater(count_fetches(self.requests()), first)
            os.listdir(m.mountpoint)
            self.assertIn("ddbfs: debug:", m.log(), "-d did not turn on debug logging")
            for s in SECRETS:
                self.assertNotIn(s, m.log(), "a secret reached ddbfs's stderr")
        finally:
            m.stop()

    def test_instance_metadata_is_used_and_refreshed(self):
        self.scenario({"imds": {"expire_in": REFRESH_S + FRESH_FOR_S}})

        def fetches(reqs):
            return sum(1 for r in reqs if r["path"].endswith("/security-credentials/ddbfs-role"))

        self.mount_and_refresh("instance metadata",
                               dict(AWS_EC2_METADATA_DISABLED=None,
                                    AWS_EC2_METADATA_SERVICE_ENDPOINT=self.url), fetches)
        reqs = self.requests()
        self.assertTrue(all(r["headers"].get("x-aws-ec2-metadata-token", "").startswith(
            "FAKEIMDSTOKEN") for r in reqs if r["method"] == "GET"), "an IMDSv1 request was made")
        self.assertGreaterEqual(sum(1 for r in reqs if r["method"] == "PUT"), 2)

    def test_container_credentials_are_used_and_refreshed(self):
        self.write_token("container-auth-1\n")
        self.scenario({"container": {"auth": "container-auth-1",
                                     "expire_in": REFRESH_S + FRESH_FOR_S}})

        def rotate():  # as EKS rotates the token: the new one must be read on refresh
            self.write_token("container-auth-2\n")
            self.scenario({"container": {"auth": "container-auth-2",
                                         "expire_in": REFRESH_S + FRESH_FOR_S}})

        def fetches(reqs):
            return sum(1 for r in reqs if r["path"] == "/container/creds" and r["status"] == 200)

        self.mount_and_refresh("container",
                               dict(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url + "/container/creds",
                                    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=self.token_file),
                               fetches, rotate)
        auths = [r["headers"].get("authorization") for r in self.requests()]
        self.assertIn("container-auth-2", auths)

    def test_web_identity_is_used_and_refreshed(self):
        self.write_token("web-identity-jwt-1")
        self.scenario({"sts": {"token": "web-identity-jwt-1",
                               "expire_in": REFRESH_S + FRESH_FOR_S}})

        def rotate():
            self.write_token("web-identity-jwt-2")
            self.scenario({"sts": {"token": "web-identity-jwt-2",
                                   "expire_in": REFRESH_S + FRESH_FOR_S}})

        def fetches(reqs):
            return sum(1 for r in reqs if r["method"] == "POST" and r["status"] == 200)

        self.mount_and_refresh("web identity",
                               dict(AWS_ROLE_ARN="arn:aws:iam::123456789012:role/ddbfs",
                                    AWS_WEB_IDENTITY_TOKEN_FILE=self.token_file,
                                    AWS_ROLE_SESSION_NAME="e2e",
                                    AWS_ENDPOINT_URL_STS=self.url + "/sts"),
                               fetches, rotate)
        bodies = [r["body"] for r in self.requests() if r["method"] == "POST"]
        self.assertIn("RoleSessionName=e2e", bodies[0])
        self.assertTrue(any("WebIdentityToken=web-identity-jwt-2" in b for b in bodies))

    def test_a_machine_without_credentials_fails_fast_before_mounting(self):
        # Instance metadata that never answers in time: the chain ends after its 1 s timeout.
        self.scenario({"imds": {"delay": 10}})
        with environment(**self.files, AWS_EC2_METADATA_DISABLED=None,
                         AWS_EC2_METADATA_SERVICE_ENDPOINT=self.url):
            t0 = time.monotonic()
            status, output, mounted = e2e.run_ddbfs_expecting_refusal(
                [f"endpoint={e2e.endpoint()}"])
            took = time.monotonic() - t0
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0)
        self.assertIn("no AWS credentials found for profile default", output)
        self.assertIn("instance metadata (no answer from", output)
        self.assertLess(took, 8, f"took {took:.1f} s")

    def test_an_sts_error_is_reported_before_mounting(self):
        self.write_token("web-identity-jwt-old")
        self.scenario({"sts": {"token": "web-identity-jwt-new"}})
        with environment(**self.files, AWS_ROLE_ARN="arn:aws:iam::123456789012:role/ddbfs",
                         AWS_WEB_IDENTITY_TOKEN_FILE=self.token_file,
                         AWS_ENDPOINT_URL_STS=self.url + "/sts"):
            status, output, mounted = e2e.run_ddbfs_expecting_refusal(
                [f"endpoint={e2e.endpoint()}"])
        self.assertFalse(mounted)
        self.assertNotEqual(status, 0)
        self.assertIn("InvalidIdentityToken", output)
        self.assertNotIn("web-identity-jwt", output)


if __name__ == "__main__":
    unittest.main()
