from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from .models import User


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(source="role_names", child=serializers.CharField())

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "roles"]


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    """The logged-in user and their roles."""
    return Response(MeSerializer(request.user).data)
