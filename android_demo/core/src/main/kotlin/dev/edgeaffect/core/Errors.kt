package dev.edgeaffect.core

/** A manifest, golden file or bundle that does not match its contract; the message names the field or file. */
class ManifestException(message: String) : Exception(message)
