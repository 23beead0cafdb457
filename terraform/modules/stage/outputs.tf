output "settings" {
  description = "The stage's settings, typed, with absent optional fields set to their defaults."
  value       = var.settings
}
