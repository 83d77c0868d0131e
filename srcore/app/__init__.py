"""srcore-app: the Upscaler in a browser, served from this machine (srcore.commands.app starts it).

catalogue  the models offered: the workspace's, files named, DVC experiments' from the cache
sources    the images given (read as srcore-upscale reads files), previews, downloads
request    what the page asks for, checked
jobs       a request worked in a thread: both sides of the slider, kept for re-use, scored
server     the HTTP server, the page's files (static/) and its JSON API
"""
