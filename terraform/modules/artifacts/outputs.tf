output "bucket_name" {
  description = "Artifacts bucket name."
  value       = module.bucket.bucket_name
}

output "objects" {
  description = "Each uploaded artifact by object key: bucket, key and version_id (what Lambda is given)."
  value = {
    for k, o in aws_s3_object.this : k => {
      bucket     = o.bucket
      key        = o.key
      version_id = o.version_id
    }
  }
}
