"""The Android entry point: python-for-android starts the app from main.py.

See docs/mobile.md for building the APK with buildozer.spec.
"""

import os

import certifi

from mobile.app import MinqingApp, keep_running_on_errors

# Android has no CA bundle Python's ssl can read: trust certifi's.
os.environ.setdefault("SSL_CERT_FILE", certifi.where())

if __name__ == "__main__":
    keep_running_on_errors()
    MinqingApp().run()
