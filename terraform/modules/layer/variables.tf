variable "name" {
  description = "Layer name (includes the stage)."
  type        = string
}

variable "description" {
  description = "Layer description."
  type        = string
  default     = "apikit and its pinned runtime dependencies"
}

variable "zip_path" {
  description = "Path of layer.zip built by scripts/build.py (content under python/); hashed to detect changes."
  type        = string
}

variable "s3_object" {
  description = "Where layer.zip was uploaded (bucket, key, version_id); null when the layer is disabled."
  type = object({
    bucket     = string
    key        = string
    version_id = string
  })
  default = null
}

variable "enabled" {
  description = "Publish the layer; false when the layer is bundled into each function zip."
  type        = bool
  default     = true
}

variable "compatible_runtimes" {
  description = "Runtimes the layer supports."
  type        = list(string)
  default     = ["python3.12"]
}

variable "compatible_architectures" {
  description = "Architectures the layer supports."
  type        = list(string)
  default     = ["x86_64"]
}
