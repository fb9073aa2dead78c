"""The media processor: every incoming upload becomes a checked, web-playable video with a poster,
or a clear failure (docs/uploads.md, "Processing").

A deployable of its own (a Lambda triggered by S3, or `python -m media_processor` in the local
stack): it imports only PyAV (`av`), boto3 and the standard library, and nothing from the other
parts of this repository.
"""
