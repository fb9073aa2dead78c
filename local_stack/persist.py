"""`--persist`: the bucket's objects kept under the state dir across restarts (moto keeps nothing on
disk, and has no persistence option of its own).

On stop, while moto still runs, every object the seeding did not put there as it is (uploads,
what the media processor wrote, a seeded key overwritten) is saved to `<state dir>/bucket/`: an
object whose ETag is already saved is not read again, and one no longer in the bucket is dropped.
On start, after the seeding, every saved object is put back with its Content-Type and metadata.
If moto is gone at stop (killed), the last snapshot stays as it was. Only objects: keys, IAM users
and the signing key are new at every start, so tokens minted before a restart are refused after it.
"""
import hashlib
import json
import os
import pathlib

from botocore.exceptions import BotoCoreError, ClientError

INDEX = "index.json"


class Snapshot:
    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.objects = self.folder / "objects"

    def index(self):
        """{key: {"etag", "content_type", "metadata", "file"}} of the last save ({} before any)."""
        try:
            return json.loads((self.folder / INDEX).read_text())
        except FileNotFoundError:
            return {}

    def restore(self, s3, bucket):
        """Put every saved object back; returns how many."""
        index = self.index()
        for key, saved in index.items():
            with open(self.objects / saved["file"], "rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=saved["content_type"],
                              Metadata=saved["metadata"])
        return len(index)

    def save(self, s3, bucket, seeded):
        """Save what is in the bucket, except objects whose {key: etag} is in `seeded`; returns
        (objects saved in all, objects read now). The index is replaced last, in one rename: a
        save cut short leaves the previous snapshot whole."""
        before = self.index()
        index, read = {}, 0
        self.objects.mkdir(parents=True, exist_ok=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for listed in page.get("Contents", []):
                key, etag = listed["Key"], listed["ETag"]
                if seeded.get(key) == etag:
                    continue
                if key in before and before[key]["etag"] == etag:
                    index[key] = before[key]
                    continue
                index[key] = self._download(s3, bucket, key, etag)
                read += 1
        self._write_index(index)
        kept = {saved["file"] for saved in index.values()}
        for file in self.objects.iterdir():
            if file.name not in kept:
                file.unlink()
        return len(index), read

    def _download(self, s3, bucket, key, etag):
        name = hashlib.sha256(f"{key}\n{etag}".encode()).hexdigest()  # a new version is a new file
        answer = s3.get_object(Bucket=bucket, Key=key)
        partial = self.objects / f".{name}.part"
        with open(partial, "wb") as file:
            for chunk in answer["Body"].iter_chunks(1024 * 1024):
                file.write(chunk)
        os.replace(partial, self.objects / name)
        return {"etag": etag, "content_type": answer.get("ContentType", "binary/octet-stream"),
                "metadata": answer.get("Metadata", {}), "file": name}

    def _write_index(self, index):
        partial = self.folder / f".{INDEX}.part"
        partial.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        os.replace(partial, self.folder / INDEX)


def bucket_etags(s3, bucket):
    """{key: etag} of every object in the bucket."""
    return {listed["Key"]: listed["ETag"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for listed in page.get("Contents", [])}


ERRORS = (BotoCoreError, ClientError, OSError)  # moto gone, or the disk: reported, never a traceback
