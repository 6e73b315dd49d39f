"""The clinician's web page: Flask, served by waitress on the box's own Wi-Fi."""
