"""Plain PySpark transforms, one module per zone: the same functions run locally and in a Glue or EMR job."""
